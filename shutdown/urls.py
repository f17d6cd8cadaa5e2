from django.urls import path

from .views import bulk, preparation, tasks

app_name = "shutdown"

urlpatterns = [
    path("", tasks.TaskListView.as_view(), name="task_list"),
    path("new/", tasks.TaskCreateView.as_view(), name="task_create"),
    path("<int:pk>/", tasks.TaskDetailView.as_view(), name="task_detail"),
    path("<int:pk>/progress/", tasks.TaskProgressView.as_view(), name="task_progress"),
    path("<int:pk>/items/<int:item_id>/", tasks.ItemDetailView.as_view(), name="item_detail"),
    path("<int:pk>/documents/<int:document_id>/", tasks.DocumentDownloadView.as_view(), name="document_download"),
    path("<int:pk>/do/<slug:action>/", tasks.TaskActionView.as_view(), name="task_action"),
    # R9.1 / R9.2 / R1.3 / R9.4: preparation and transition (shutdown/views/preparation.py)
    path("<int:pk>/preparation/", preparation.PreparationMarkView.as_view(), name="preparation_mark"),
    path("<int:pk>/items/<int:item_id>/prepare/<slug:action>/", preparation.ItemPreparationView.as_view(),
         name="item_preparation"),
    path("<int:pk>/bulk/", bulk.TaskBulkView.as_view(), name="task_bulk"),
    path("<int:pk>/confirm/<slug:action>/", bulk.ConfirmView.as_view(), name="confirm"),
    path("<int:pk>/receipts/", bulk.ReceiptsImportView.as_view(), name="receipts_import"),
    path("<int:pk>/receipts/<int:import_id>/confirm/", bulk.ReceiptsConfirmView.as_view(), name="receipts_confirm"),
]
