"""Return material authorizations (RMA), advance exchange included.

May import `fieldsvc`; `fieldsvc` imports this package only to register its models and
blueprint.
"""
