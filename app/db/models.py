"""GeoAlchemy2 models. Geometries are stored in EPSG:4326 as (lon, lat)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SRID = 4326


class Base(DeclarativeBase):
    """Declarative base for every table."""


class City(Base):
    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Ward(Base):
    __tablename__ = "wards"
    __table_args__ = (UniqueConstraint("city_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    geom: Mapped[Any] = mapped_column(
        Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False
    )


class Settlement(Base):
    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("city_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    ward_id: Mapped[int | None] = mapped_column(
        ForeignKey("wards.id", ondelete="SET NULL"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    households_estimate: Mapped[int | None] = mapped_column(Integer)
    year_settled: Mapped[int | None] = mapped_column(Integer)
    land_type: Mapped[str | None] = mapped_column(Text)
    threats: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    profile: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    geom: Mapped[Any] = mapped_column(
        Geometry("POLYGON", srid=SRID, spatial_index=True), nullable=False
    )


class HouseholdSurvey(Base):
    __tablename__ = "household_surveys"
    __table_args__ = (
        Index("ix_household_surveys_city_ward", "city_id", "ward_id"),
        Index("ix_household_surveys_collected_at", "collected_at"),
        Index(
            "ix_household_surveys_shape",
            "shape",
            postgresql_using="gist",
            postgresql_where=text("shape IS NOT NULL"),
        ),
    )

    # The client generates the id when the survey is started: it is the idempotency key.
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    # Its city (deleted with it), ward and settlement (emptied when they are deleted): the
    # references are kept by statement triggers, not foreign keys (migration 0016).
    city_id: Mapped[int | None] = mapped_column(Integer)
    ward_id: Mapped[int | None] = mapped_column(Integer)
    settlement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[str] = mapped_column(String(64))
    collector: Mapped[str | None] = mapped_column(Text)
    collected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    # The volunteer placed the point by hand on the phone's map (GPS poor or off).
    location_manual: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Other geopoint answers placed by hand, by name (`repeat[n]/name` in a repeat); NULL: none.
    manual_points: Mapped[list[str] | None] = mapped_column(ARRAY(Text))
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB)
    content_hash: Mapped[str] = mapped_column(String(64))
    # NULL: a survey of a form without a geopoint question (sent without a location).
    geom: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=True), nullable=True
    )
    # The area of a survey whose form's location is a geoshape (app/geo/geoshape.py); NULL
    # for the others. Indexed where it is set only (migration 0020).
    shape: Mapped[Any] = mapped_column(
        Geometry("POLYGON", srid=SRID, spatial_index=False), nullable=True
    )


class Attachment(Base):
    """A photo uploaded for a household survey; the file lives under media_dir/<survey id>/."""

    __tablename__ = "attachments"
    __table_args__ = (
        UniqueConstraint("submission_id", "filename", name="uq_attachments_submission_file"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("household_surveys.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
