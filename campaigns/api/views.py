"""Campaigns over the API: create, read, launch, pause, stats. One operation per view."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from campaigns.api.serializers import CampaignIn, CampaignOut, LaunchOut, ReachOut, StatsOut
from campaigns.models import Campaign
from campaigns.reach import campaign_launch_with_reach, campaign_reach
from campaigns.services import TransitionRefused, campaign_pause
from campaigns.stats_snapshot import campaign_stats_snapshot
from subscriptions.api.base import ApiView
from subscriptions.api.docs import errors
from subscriptions.api.serializers import ErrorOut

NOT_FOUND = {404: OpenApiResponse(ErrorOut, description='No such campaign: {"detail": ...}.')}
CONFLICT = {
    409: OpenApiResponse(
        ErrorOut, description='The campaign\'s status does not allow it: {"detail": ...}.'
    )
}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class CampaignCreateApi(ApiView):
    @extend_schema(
        operation_id="campaigns_create",
        summary="Create a campaign (as a draft)",
        description="One-off needs `send_at`; recurring needs `weekday` + `local_time` (each "
        "customer's own time zone); triggered needs `trigger_event` (an order event type or "
        "`no_order_since_delivery` for win-back) and may set `trigger_delay` and "
        "`trigger_conditions` ({skus, min_total, max_total}). Recurring may set "
        '`trigger_conditions` {"exclude_ordered_since_days": N}.',
        request=CampaignIn,
        responses={201: CampaignOut} | errors(400, 401, 413, 415),
    )
    def post(self, request: Request) -> Response:
        incoming = CampaignIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        campaign = incoming.save()
        return Response(CampaignOut(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(ApiView):
    @extend_schema(
        operation_id="campaigns_read",
        summary="A campaign",
        responses={200: CampaignOut} | errors(401) | NOT_FOUND,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(CampaignOut(get_object_or_404(Campaign, pk=pk)).data)


class CampaignLaunchApi(ApiView):
    @extend_schema(
        operation_id="campaigns_launch",
        summary="Launch: draft/paused -> scheduled (one-off) or running",
        description="Writes the deliveries that are due now (a one-off within its lookahead, "
        "the next weekly occurrence, lapsed win-back customers); `materialized` counts them.",
        request=None,
        responses={200: LaunchOut} | errors(401) | NOT_FOUND | CONFLICT,
    )
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(Campaign, pk=pk)
        try:
            campaign, created = campaign_launch_with_reach(campaign_id=pk)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from None
        campaign.materialized = created  # type: ignore[attr-defined]
        return Response(LaunchOut(campaign).data)


class CampaignPauseApi(ApiView):
    @extend_schema(
        operation_id="campaigns_pause",
        summary="Pause: running/scheduled -> paused (nothing more is sent until relaunch)",
        request=None,
        responses={200: CampaignOut} | errors(401) | NOT_FOUND | CONFLICT,
    )
    def post(self, request: Request, pk: int) -> Response:
        get_object_or_404(Campaign, pk=pk)
        try:
            campaign = campaign_pause(campaign_id=pk)
        except TransitionRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(CampaignOut(campaign).data)


class CampaignStatsApi(ApiView):
    @extend_schema(
        operation_id="campaigns_stats",
        summary="Outcomes, engagement, survey scores, attributed orders, holdout uplift",
        responses={200: StatsOut} | errors(401) | NOT_FOUND,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(campaign_stats_snapshot(get_object_or_404(Campaign, pk=pk)))


class CampaignReachApi(ApiView):
    @extend_schema(
        operation_id="campaigns_reach",
        summary="Who would get it if it were sent now, per channel account and outcome",
        description="The audience as the dispatcher would decide it now: sent, deferred by "
        "quiet hours (and until when), skipped for no topic consent, outside the platform's "
        "window, capped, held out, already ordered; billed messages and their estimated cost.",
        responses={200: ReachOut} | errors(401) | NOT_FOUND,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(campaign_reach(get_object_or_404(Campaign, pk=pk)))
