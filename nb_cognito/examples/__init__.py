"""The example notebooks (package data: quickstart, session_api, widget) and ``nb-cognito demo``,
which runs them against the offline emulator (:mod:`nb_cognito.examples.demo`)."""
