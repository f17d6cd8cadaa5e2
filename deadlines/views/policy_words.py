"""The deadline-policy page in words: every setting of rulebook.policy named, explained, with
its unit (the numbers themselves stay in rulebook/policy.py)."""

from django.utils.translation import gettext_lazy as _

# name → (what it is, unit, what the rule says)
POLICY_WORDS = {
    "enterprise_review_hours": (_("Enterprise account review"), _("hours"),
                                _("An enterprise account's shutdown is reviewed within this time.")),
    "third_party_min_working_days": (_("Third-party authorised account, shortest processing"), _("working days"),
                                     _("Earliest effective date after unbinding on the original platform.")),
    "third_party_max_working_days": (_("Third-party authorised account, longest processing"), _("working days"),
                                     _("Latest effective date after unbinding on the original platform.")),
    "drafts_days": (_("Drafts kept after shutdown"), _("days"),
                    _("Published content moves to drafts and is deleted after this time; remind before it.")),
    "interaction_data_days": (_("Interaction data kept"), _("days"),
                              _("Interaction data can be exported (CSV only) during this time.")),
    "fan_profile_days": (_("Fan profile kept"), _("days"),
                         _("Basic fan-profile data stays available for this time.")),
    "settlement_working_days": (_("Settle unwithdrawn earnings within"), _("working days"),
                                _("Live-streaming earnings must be settled within this many Chinese working days.")),
    "ad_payout_threshold_cny": (_("Minimum ad revenue paid out"), _("yuan"),
                                _("A pending ad revenue share below this amount returns to the advertiser.")),
    "topic_transfer_revocable_days": (_("Topic-host transfer can be revoked for"), _("days"),
                                      _("The transfer of topic-host roles can be undone during this time.")),
    "dormant_login_interval_months": (_("Dormant mode: log in every"), _("months"),
                                      _("A dormant account must be logged into at this interval.")),
    "delayed_review_max_days": (_("Delayed review of high-risk accounts, at most"), _("days"),
                                _("A high public-opinion risk account may be reviewed this much later.")),
    "international_time_factor": (_("International accounts take longer by"), _("times"),
                                  _("Processing times of international accounts are multiplied by this factor.")),
    "activity_window_hours": (_("Follower-drop watch after shutdown"), _("hours"),
                              _("Followers are watched for this time after the shutdown.")),
    "activity_follower_drop_pct": (_("Follower drop that raises an alert"), _("percent"),
                                   _("A drop of at least this share of followers raises an alert.")),
    "api_window_days": (_("Unauthorised interface calls watched for"), _("days"),
                        _("Interface calls are watched for this time after the shutdown.")),
    "commercial_window_days": (_("Pending orders watched for"), _("days"),
                               _("Commercial orders are watched for this time after the shutdown.")),
    "commercial_max_pending_orders": (_("Pending orders that raise an alert"), _("orders"),
                                      _("More pending orders than this raise an alert for legal.")),
    "shell_followers_threshold": (_("Propose a shell transition from"), _("followers"),
                                  _("Accounts with at least this many followers are proposed to stay an empty shell "
                                    "before their shutdown.")),
    "shell_months": (_("Shell transition lasts"), _("months"),
                     _("How long the empty shell stays while followers move elsewhere; the shutdown follows.")),
    "shell_checkin_interval_months": (_("Follower migration check-in every"), _("months"),
                                      _("During the shell transition, a check-in on the follower migration is "
                                        "reminded at this interval.")),
    "reopen_block_days": (_("No reopening for"), _("days"),
                          _("A shut-down video account cannot be reopened during this time.")),
    "interaction_export_months": (_("Export interaction data of the last"), _("months"),
                                  _("Before the shutdown, export this many months of interaction data.")),
}


def policy_words(name: str) -> tuple[str, str, str]:
    label, unit, rule = POLICY_WORDS.get(name, (name.replace("_", " "), "", ""))
    return str(label), str(unit), str(rule)
