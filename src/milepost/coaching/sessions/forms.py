"""Input forms of the 1:1 pages. They parse and shape input only; the rules are in services."""

from __future__ import annotations

from django import forms

from milepost.coaching.models import ActionStatus


class VersionForm(forms.Form):
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)


class NewSessionForm(forms.Form):
    scheduled_for = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=5, max_value=480, initial=30)


class ItemAddForm(VersionForm):
    title = forms.CharField(label="New item", max_length=300)


class ItemUpdateForm(VersionForm):
    title = forms.CharField(max_length=300, required=False)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    decision = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    discussed = forms.BooleanField(required=False)


class SessionNotesForm(VersionForm):
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    decisions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ActionAddForm(forms.Form):
    title = forms.CharField(label="Action", max_length=300)
    owner = forms.TypedChoiceField(label="Owner", coerce=int, choices=())
    due_date = forms.DateField(label="Due", widget=forms.DateInput(attrs={"type": "date"}))
    opportunity = forms.TypedChoiceField(
        label="Deal", coerce=int, required=False, empty_value=None, choices=()
    )
    competency = forms.ChoiceField(label="Competency", required=False, choices=())

    def __init__(self, *args, owners=(), deals=(), competencies=(), **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = list(owners)
        self.fields["opportunity"].choices = [("", "—"), *deals]
        self.fields["competency"].choices = [("", "—"), *competencies]


class ActionStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionStatus.choices)
    version = forms.IntegerField(min_value=1, required=False)


class CadenceForm(forms.Form):
    every_weeks = forms.IntegerField(label="Every (weeks)", min_value=1, max_value=12, initial=1)
    weekday = forms.TypedChoiceField(
        label="On",
        coerce=int,
        choices=[
            (0, "Monday"),
            (1, "Tuesday"),
            (2, "Wednesday"),
            (3, "Thursday"),
            (4, "Friday"),
        ],
        initial=1,
    )
    time_of_day = forms.TimeField(
        label="At", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=5, max_value=480, initial=30)
    timezone = forms.CharField(label="Time zone", max_length=64, initial="UTC")
    starts_on = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    version = forms.IntegerField(min_value=1, required=False, widget=forms.HiddenInput)
