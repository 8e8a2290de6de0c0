from django.apps import AppConfig


class InspectionConfig(AppConfig):
    name = "milepost.inspection"
    label = "inspection"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from milepost.inspection.sql_frames import close_native_readers

        # Like Django's own connections, the native Arrow reader a request opened is closed
        # when the request ends (a server thread may never serve another).
        request_finished.connect(
            lambda **kwargs: close_native_readers(), dispatch_uid="close_arrow_reader", weak=False
        )
