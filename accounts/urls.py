from django.urls import path

from . import views, views_security

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/done/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("security/", views_security.SecurityView.as_view(), name="security"),
    path("security/sessions/end/", views_security.SessionEndView.as_view(), name="session_end"),
    path("2fa/setup/", views_security.MfaSetupView.as_view(), name="mfa_setup"),
    path("2fa/verify/", views_security.MfaVerifyView.as_view(), name="mfa_verify"),
    path("2fa/remove/", views_security.MfaRemoveView.as_view(), name="mfa_remove"),
    path("2fa/passkeys/<int:pk>/remove/", views_security.PasskeyRemoveView.as_view(), name="passkey_remove"),
    path("2fa/recovery-codes/", views_security.RecoveryCodesView.as_view(), name="mfa_recovery"),
]
