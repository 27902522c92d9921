"""The permission matrix: which role may do what. Data, not code paths; docs/security.md renders it."""

from __future__ import annotations

from dtsen.accounts.models import Role

REGISTRY_VIEW = "registry.view"
REGISTRY_CHANGE = "registry.change"
REGISTRY_BULK = "registry.bulk"  # import and export whole files
RANKING_RUN = "ranking.run"  # start a national ranking run (desil)
AUDIT_VIEW = "audit.view"  # search the audit trail (auditors)
CITIZEN_REVIEW = "citizen.review"  # approve or reject citizen (Cek Bansos) accounts of families in scope
USULAN_DRAFT = "usulan.draft"  # draft usulan, record the village meeting, send to Dinsos (village operator)
USULAN_CHECK = "usulan.check"  # check completeness, return, order visits, verify usul/sanggah (Dinsos)
USULAN_RATIFY = "usulan.ratify"  # ratify verified usulan in a batch with a decree (penetapan)
VISIT_DO = "visit.do"  # carry out a verification visit assigned to oneself (social workers)
USULAN_CUTOFF = "usulan.cutoff"  # run the monthly cut-off and set the monthly deadlines
PROGRAM_RUN = "program.run"  # run eligibility and policy simulations; set rule editions and quotas (national)
PROGRAM_RATIFY = "program.ratify"  # ratify a program's beneficiary list (penetapan KPM) for a region
PROGRAM_DISBURSE = "program.disburse"  # record disbursement status, memberships, graduation (Dinsos)
PROGRAM_VIEW = "program.view"  # see eligibility results, decrees, BNBA lists and disbursement of a region
EMPOWER_RECORD = "empower.record"  # record PPKS categories and empowerment activities of families in scope
DASHBOARD_VIEW = "dashboard.view"  # see the aggregate dashboards (desil, programs, queues, data quality) of a region

_FIELD = {REGISTRY_VIEW, VISIT_DO, PROGRAM_VIEW, EMPOWER_RECORD, DASHBOARD_VIEW}
MATRIX: dict[str, frozenset[str]] = {
    Role.OPERATOR_DESA: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, REGISTRY_CHANGE, USULAN_DRAFT}),
    Role.PENDAMPING_PKH: frozenset(_FIELD),
    Role.TKSK: frozenset(_FIELD),
    Role.PSM: frozenset(_FIELD),
    Role.TAGANA: frozenset(_FIELD),
    Role.KARANG_TARUNA: frozenset(_FIELD),
    Role.DINSOS_VERIFIER: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, REGISTRY_CHANGE, CITIZEN_REVIEW, USULAN_CHECK,
                                      PROGRAM_VIEW, PROGRAM_DISBURSE, EMPOWER_RECORD}),
    Role.DINSOS_SUPERVISOR: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, REGISTRY_CHANGE, CITIZEN_REVIEW, USULAN_CHECK,
                                        PROGRAM_VIEW, PROGRAM_DISBURSE, EMPOWER_RECORD}),
    Role.RATIFIER: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, USULAN_RATIFY, PROGRAM_VIEW, PROGRAM_RATIFY}),
    Role.PROVINCIAL_VIEWER: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, PROGRAM_VIEW}),
    Role.PUSDATIN: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, REGISTRY_CHANGE, REGISTRY_BULK, RANKING_RUN, USULAN_CUTOFF,
                             PROGRAM_RUN, PROGRAM_VIEW, PROGRAM_RATIFY}),
    Role.BPS_ANALYST: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, REGISTRY_BULK, RANKING_RUN, PROGRAM_RUN, PROGRAM_VIEW}),
    Role.AUDITOR: frozenset({DASHBOARD_VIEW, REGISTRY_VIEW, AUDIT_VIEW}),
    Role.SYSTEM_CLIENT: frozenset(),
}
