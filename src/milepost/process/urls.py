from django.urls import path

from milepost.process import views

app_name = "process"
urlpatterns = [
    path("", views.process_list_view, name="list"),
    path("<slug:key>/", views.process_detail, name="detail"),
    path("<slug:key>/v<int:number>/", views.process_detail, name="version"),
]
