from oauth2_provider.oauth2_validators import OAuth2Validator


class Validator(OAuth2Validator):
    """Email, name and amr in the ID token, as a company IdP would send them."""

    oidc_claim_scope = None  # every claim below whatever the scope

    def get_additional_claims(self, request):
        user = request.user
        return {
            "email": user.email,
            "email_verified": True,
            "name": user.get_full_name() or user.username,
            "amr": ["pwd", "otp"] if user.last_name == "mfa" else ["pwd"],
        }
