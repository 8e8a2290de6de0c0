"""Vocabulary of the pipeline, shared by models, forms, the API and the importer."""

from django.db import models
from django.utils.translation import gettext_lazy


class BuyingRole(models.TextChoices):
    ECONOMIC_BUYER = "economic_buyer", gettext_lazy("Economic buyer")
    CHAMPION = "champion", gettext_lazy("Champion")
    TECHNICAL_BUYER = "technical_buyer", gettext_lazy("Technical buyer")
    USER_BUYER = "user_buyer", gettext_lazy("User buyer")
    COACH = "coach", gettext_lazy("Coach")
    INFLUENCER = "influencer", gettext_lazy("Influencer")
    BLOCKER = "blocker", gettext_lazy("Blocker")


class ActivityType(models.TextChoices):
    CALL = "call", gettext_lazy("Call")
    MEETING = "meeting", gettext_lazy("Meeting")
    EMAIL = "email", gettext_lazy("Email")
    DEMO = "demo", gettext_lazy("Demo")
    WORKSHOP = "workshop", gettext_lazy("Discovery workshop")
    PROPOSAL_SENT = "proposal_sent", gettext_lazy("Proposal sent")
    NEGOTIATION = "negotiation", gettext_lazy("Negotiation")
    NOTE = "note", gettext_lazy("Note")


class TransitionSource(models.TextChoices):
    USER = "user", gettext_lazy("Moved by a person")
    API = "api", gettext_lazy("Moved through the API")
    IMPORT = "import", gettext_lazy("Imported history")
    SYNTHETIC = "synthetic", gettext_lazy("Synthetic demo history")
    PROCESS_CHANGE = "process_change", gettext_lazy("Process change")


class LeadStatus(models.TextChoices):
    NEW = "new", gettext_lazy("New")
    WORKING = "working", gettext_lazy("Working")
    CONVERTED = "converted", gettext_lazy("Converted")
    DISQUALIFIED = "disqualified", gettext_lazy("Disqualified")
