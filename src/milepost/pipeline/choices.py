"""Vocabulary of the pipeline, shared by models, forms, the API and the importer."""

from django.db import models


class BuyingRole(models.TextChoices):
    ECONOMIC_BUYER = "economic_buyer", "Economic buyer"
    CHAMPION = "champion", "Champion"
    TECHNICAL_BUYER = "technical_buyer", "Technical buyer"
    USER_BUYER = "user_buyer", "User buyer"
    COACH = "coach", "Coach"
    INFLUENCER = "influencer", "Influencer"
    BLOCKER = "blocker", "Blocker"


class ActivityType(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "Email"
    DEMO = "demo", "Demo"
    WORKSHOP = "workshop", "Discovery workshop"
    PROPOSAL_SENT = "proposal_sent", "Proposal sent"
    NEGOTIATION = "negotiation", "Negotiation"
    NOTE = "note", "Note"


class TransitionSource(models.TextChoices):
    USER = "user", "Moved by a person"
    API = "api", "Moved through the API"
    IMPORT = "import", "Imported history"
    SYNTHETIC = "synthetic", "Synthetic demo history"
    PROCESS_CHANGE = "process_change", "Process change"


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    WORKING = "working", "Working"
    CONVERTED = "converted", "Converted"
    DISQUALIFIED = "disqualified", "Disqualified"
