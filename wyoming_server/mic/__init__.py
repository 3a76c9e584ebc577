"""The Pi's ALSA microphone: capture, fan-out, the Wyoming ``mic`` service and ``listen``.

``pyalsaaudio`` (the ``mic`` extra) is imported only when a device is opened, so the rest of
the server runs without it. Import from the modules: the mic service (``service``) loads
nothing of the speech-to-text stack, ``listen`` does.
"""
