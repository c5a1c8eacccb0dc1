"""Annotation tools <-> seeds/: import from and export to INCEpTION, Label Studio, brat, doccano.

One module per tool reads its export into the tool-neutral
:class:`~factpack.formats.common.Document` (text, spans, relations, annotator) and writes it
back; :mod:`factpack.formats.mapping` reads the mapping file that says what the tool's labels
mean; :mod:`factpack.formats.importer` turns a document into our annotation and
:mod:`factpack.formats.exporter` the other way. See docs/importing.md.
"""
