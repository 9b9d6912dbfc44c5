"""Built-in text plugin: registered through the ``automl.plugins`` entry point.

It registers no task yet: the text task and its model families arrive with their own issue, so
``automl.fit`` on text input reports that no loaded plugin accepts it.
"""
