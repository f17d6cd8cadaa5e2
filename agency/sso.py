"""Single sign-on per agency: not built yet (issue 18, SSO part). The invitation page asks this
module for the agency's identity providers, so that linking one later shows it there."""


def identity_providers_for(agency) -> list:
    """The agency's active identity providers: none until SSO is built."""
    return []
