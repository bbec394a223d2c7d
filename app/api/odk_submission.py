"""ODK Collect's submission route on its own router, so that app.main can place it first
among the routes beside the JSON API's survey routes (see app/api/odk.py)."""

from __future__ import annotations

from app.api.odk import submission_router as router

__all__ = ["router"]
