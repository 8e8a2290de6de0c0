"""Customer organisations (accounts) and the people in them (contacts).

A contact's *buying role* is not stored here: it depends on the deal, so it lives on
:class:`milepost.pipeline.models.OpportunityContact`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A customer or prospect organisation. ``owner`` is the account executive responsible.

    Archiving (``archived_at``) hides the account from the default list and refuses edits; its
    deals, contacts and activities are kept, so history and reports do not change.
    """

    name = models.CharField(max_length=200, unique=True)
    sector = models.CharField(max_length=64, blank=True)
    year_established = models.PositiveSmallIntegerField(null=True, blank=True)
    annual_revenue_musd = models.DecimalField(
        "annual revenue (million USD)", max_digits=14, decimal_places=2, null=True, blank=True
    )
    employees = models.PositiveIntegerField(null=True, blank=True)
    headquarters = models.CharField(max_length=100, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def revenue(self) -> Decimal | None:
        return self.annual_revenue_musd


class Contact(models.Model):
    """A person at an account whom the sales team talks to."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    title = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        indexes = [models.Index(fields=["account", "last_name"])]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"
