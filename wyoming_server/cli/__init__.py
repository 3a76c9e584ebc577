"""The command line: every option, its environment variable, one parser per subcommand.

``parser`` builds the parser of the subcommand that runs and imports only that
subcommand's module (``serve``, ``transcribe``, ``check``, ``demo``, ``listen``, ``mic``,
``health``); ``options`` declares each option once with its variable; the ``*_options``
modules hold the option groups; ``settings`` turns the parsed options into
``ServerSettings``. Nothing is imported here, so that ``health`` stays light.
"""
