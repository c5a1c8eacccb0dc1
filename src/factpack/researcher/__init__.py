"""The researcher side: find, download, query, diff and browse releases.

Never imports the build side (:mod:`factpack.pipeline`).
"""
