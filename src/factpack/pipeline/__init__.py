"""The build side, in the order an annotation travels.

annotations -> tables -> checks -> write / package -> release.
"""
