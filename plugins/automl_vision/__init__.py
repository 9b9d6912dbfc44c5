"""Built-in vision plugin: registered through the ``automl.plugins`` entry point.

It registers no task yet: the vision task and its model families arrive with their own issue, so
``automl.fit`` on vision input reports that no loaded plugin accepts it.
"""
