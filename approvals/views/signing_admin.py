"""An administrator shows an owner's signing link as a QR code, to forward it (e.g. over WeChat).

The only place a raw link is ever shown to agency staff: by explicit action (a POST), to the
person who asked, at that moment. A fresh token is minted (the previous link stops working),
the action is an audit event, the page is not cached, and the link is stored nowhere. It is
still only a link: signing or declining needs the code sent to the owner.
"""

import segno
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from accounts.roles import role_labels_with

from ..services.signatures import signature_link_for_qr


def signature_qr_page(request, *, agency, access, req):
    if request.method != "POST":
        raise PermissionDenied(_("Showing a signing link is an explicit action: use the button."))
    if not access.can("signatures.forward"):
        raise PermissionDenied(_("This needs one of these roles: %(roles)s.")
                               % {"roles": role_labels_with("signatures.forward")})
    link = signature_link_for_qr(agency=agency, signature=req, actor=request.user)
    svg = segno.make(link, error="m").svg_inline(scale=6, border=4, dark="#000", light="#fff")
    response = render(request, "approvals/signature_qr.html", {
        "agency": agency, "req": req, "account": req.item.sub_account.display_name,
        "qr_svg": mark_safe(svg),  # noqa: S308 - segno's own SVG of our own link, no user markup
    })
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
