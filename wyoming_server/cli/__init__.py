"""The command line: every option, its environment variable, one parser per subcommand.

``parser`` builds the parser of the subcommand that runs and imports only that
subcommand's module (``serve``, ``transcribe``, ``check``, ``demo``, ``listen``, ``mic``,
``health``); ``env`` maps options to their variables; the ``*_options`` modules hold the
option groups several subcommands share; ``settings`` turns the parsed options into
``ServerSettings``.
"""
