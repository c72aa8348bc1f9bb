"""Cryptographic inventory: TLS probing, CycloneDX 1.6 CBOM export and import, migration backlog.

* :mod:`~qsafecity.inventory.tls_wire` builds the TLS 1.3 ClientHello probe and parses answers (pure),
* :mod:`~qsafecity.inventory.probe` probes one endpoint (I/O), :mod:`~qsafecity.inventory.scanner`
  many at once with a rate limit,
* :mod:`~qsafecity.inventory.observe` turns scans into ``ObservedCrypto`` for the assessment,
* :mod:`~qsafecity.inventory.cbom` writes and reads CycloneDX 1.6 CBOMs,
* :mod:`~qsafecity.inventory.backlog` orders the migration.
"""
