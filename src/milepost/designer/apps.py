from django.apps import AppConfig


class DesignerConfig(AppConfig):
    """The process designer: drafts of a process edited in the browser, then published.

    It has no models: drafts are :class:`milepost.process.models.ProcessDraft` (reference data
    of the process app, with its migrations). The app sits above pipeline (publishing moves open
    deals) and above inspection (an impact preview before publishing is planned).
    """

    name = "milepost.designer"
    label = "designer"
