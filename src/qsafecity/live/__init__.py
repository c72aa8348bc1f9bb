"""The live city (``qsafecity up``): QKD links, KMEs, protected sensor traffic, gateways, drills.

An edge of the system: it runs threads, a message bus, a database and a web server, and uses the
pure core (``city``, ``policy``, ``qkd``) and the crypto layer beneath it.

* ``clock``: simulated time (scaled wall time, or by hand in tests);
* ``links``: QKD links at run time (key blocks, QBER estimation, aborts, eavesdroppers);
* ``keys``: the KMEs, their key pools and trusted-node relay;
* ``telemetry``: FIWARE / NGSI-LD readings; ``sensors``: the devices that send them;
* ``protection``: the seam to the crypto layer; ``gateway``: enforcement per tier;
* ``bus``: MQTT (paho, embedded amqtt broker); ``storage``: SQLAlchemy;
* ``city``: :class:`LiveCity`, the orchestrator and its drills; ``web``: the dashboard.
"""
