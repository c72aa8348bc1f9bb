"""Key management: KMEs that deliver QKD keys to SAEs by ETSI GS QKD 014, with trusted-node relay.

The package is the key management layer of the city's QKD network (ITU-T Y.3800). It holds no web
framework: ``qsafecity.api`` puts it behind HTTP, ``qsafecity.cli`` behind commands.

* ``directory``: SAEs, KMEs and QKD links of a city manifest, and the SAE naming rule;
* ``rate``: the key rate of a link and the (simulated) QKD devices that yield its key;
* ``store``: the ``KeyStore`` seam and its in-memory fake; ``sql``: the SQLAlchemy store;
"""
