"""Initial schema: every table of the data model (see docs/data-model.md).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-22 06:54:27.591747
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create every table, with its constraints and indexes."""
    op.create_table('audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('subject', sa.String(length=128), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.CheckConstraint('length(trim(action)) > 0', name=op.f('ck_audit_log_action')),
        sa.CheckConstraint('length(trim(actor)) > 0', name=op.f('ck_audit_log_actor')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index(op.f('ix_audit_log_action'), 'audit_log', ['action'])
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])
    op.create_index(op.f('ix_audit_log_subject'), 'audit_log', ['subject'])

    op.create_table('countries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_countries_name')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_countries')),
        sa.UniqueConstraint('name', name=op.f('uq_countries_name'))
    )

    op.create_table('devices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('parent_id', sa.Integer(), nullable=True),
        sa.Column('properties', sa.JSON(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.CheckConstraint("kind IN ('plc', 'telescope', 'dome', 'camera', 'filter_wheel')",
            name=op.f('ck_devices_kind')),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_devices_name')),
        sa.ForeignKeyConstraint(['parent_id'], ['devices.id'],
            name=op.f('fk_devices_parent_id_devices'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
        sa.UniqueConstraint('name', name=op.f('uq_devices_name'))
    )

    op.create_table('environment_history',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('quantity', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Double(), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('sensor', sa.String(length=64), nullable=True),
        sa.Column('measured_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scope IN ('weather', 'site')", name=op.f('ck_environment_history_scope')),
        sa.CheckConstraint('length(trim(quantity)) > 0', name=op.f('ck_environment_history_quantity')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_environment_history'))
    )
    op.create_index(op.f('ix_environment_history_scope_quantity_measured_at'), 'environment_history',
                    ['scope', 'quantity', 'measured_at'])

    op.create_table('schedules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('night_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('night_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.CheckConstraint('length(trim(created_by)) > 0', name=op.f('ck_schedules_created_by')),
        sa.CheckConstraint('night_end > night_start', name=op.f('ck_schedules_ordered')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedules'))
    )
    op.create_index(op.f('ix_schedules_night_start'), 'schedules', ['night_start'])

    op.create_table('targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('ra_deg', sa.Double(), nullable=False),
        sa.Column('dec_deg', sa.Double(), nullable=False),
        sa.CheckConstraint('dec_deg >= -90.0 AND dec_deg <= 90.0', name=op.f('ck_targets_dec_deg')),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_targets_name')),
        sa.CheckConstraint('ra_deg >= 0.0 AND ra_deg < 360.0', name=op.f('ck_targets_ra_deg')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    op.create_index(op.f('ix_targets_name'), 'targets', ['name'])

    op.create_table('users',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=64), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('country_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('observer', 'operator', 'admin')", name=op.f('ck_users_role')),
        sa.CheckConstraint('length(trim(username)) > 0', name=op.f('ck_users_username')),
        sa.ForeignKeyConstraint(['country_id'], ['countries.id'],
            name=op.f('fk_users_country_id_countries'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
        sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_index(op.f('ix_users_country_id'), 'users', ['country_id'])

    op.create_table('quotas',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('country_id', sa.Integer(), nullable=True),
        sa.Column('allocated_seconds', sa.Integer(), nullable=False),
        sa.Column('used_seconds', sa.Integer(), nullable=False),
        sa.CheckConstraint('(user_id IS NULL) <> (country_id IS NULL)', name=op.f('ck_quotas_one_owner')),
        sa.CheckConstraint('allocated_seconds >= 0', name=op.f('ck_quotas_allocated_seconds')),
        sa.CheckConstraint('used_seconds <= allocated_seconds', name=op.f('ck_quotas_within_allocation')),
        sa.CheckConstraint('used_seconds >= 0', name=op.f('ck_quotas_used_seconds')),
        sa.ForeignKeyConstraint(['country_id'], ['countries.id'],
            name=op.f('fk_quotas_country_id_countries'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_quotas_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quotas')),
        sa.UniqueConstraint('country_id', name=op.f('uq_quotas_country_id')),
        sa.UniqueConstraint('user_id', name=op.f('uq_quotas_user_id'))
    )

    op.create_table('scientific_programs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('principal_investigator_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_scientific_programs_name')),
        sa.ForeignKeyConstraint(['principal_investigator_id'], ['users.id'],
            name=op.f('fk_scientific_programs_principal_investigator_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scientific_programs')),
        sa.UniqueConstraint('name', name=op.f('uq_scientific_programs_name'))
    )

    op.create_table('requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('charged_seconds', sa.Integer(), nullable=False),
        sa.CheckConstraint("status IN ('draft', 'submitted', 'accepted', 'executing', 'completed', 'rejected', "
                           "'cancelled', 'failed')",
            name=op.f('ck_requests_status')),
        sa.CheckConstraint('charged_seconds >= 0', name=op.f('ck_requests_charged_seconds')),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_requests_name')),
        sa.ForeignKeyConstraint(['program_id'], ['scientific_programs.id'],
            name=op.f('fk_requests_program_id_scientific_programs'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_requests_user_id_users'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_requests'))
    )
    op.create_index(op.f('ix_requests_program_id'), 'requests', ['program_id'])
    op.create_index(op.f('ix_requests_status'), 'requests', ['status'])
    op.create_index(op.f('ix_requests_user_id'), 'requests', ['user_id'])

    op.create_table('alerts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ivorn', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('event_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ra_deg', sa.Double(), nullable=True),
        sa.Column('dec_deg', sa.Double(), nullable=True),
        sa.Column('error_radius_deg', sa.Double(), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("role IN ('observation', 'test', 'utility')", name=op.f('ck_alerts_role')),
        sa.CheckConstraint('dec_deg >= -90.0 AND dec_deg <= 90.0', name=op.f('ck_alerts_dec_deg')),
        sa.CheckConstraint('error_radius_deg >= 0.0', name=op.f('ck_alerts_error_radius_deg')),
        sa.CheckConstraint('length(trim(ivorn)) > 0', name=op.f('ck_alerts_ivorn')),
        sa.CheckConstraint('ra_deg >= 0.0 AND ra_deg < 360.0', name=op.f('ck_alerts_ra_deg')),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
            name=op.f('fk_alerts_request_id_requests'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
        sa.UniqueConstraint('ivorn', name=op.f('uq_alerts_ivorn'))
    )
    op.create_index(op.f('ix_alerts_received_at'), 'alerts', ['received_at'])

    op.create_table('quota_charges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quota_id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('seconds', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_quota_charges_reason')),
        sa.ForeignKeyConstraint(['quota_id'], ['quotas.id'],
            name=op.f('fk_quota_charges_quota_id_quotas'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
            name=op.f('fk_quota_charges_request_id_requests'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_quota_charges'))
    )
    op.create_index(op.f('ix_quota_charges_quota_id'), 'quota_charges', ['quota_id'])
    op.create_index(op.f('ix_quota_charges_request_id'), 'quota_charges', ['request_id'])

    op.create_table('sequences',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('request_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=True),
        sa.Column('planned_duration_s', sa.Double(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'to_be_planned', 'planned', 'unplannable', 'executing', "
                           "'executed', 'failed', 'cancelled')",
            name=op.f('ck_sequences_status')),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_sequences_name')),
        sa.CheckConstraint('planned_duration_s > 0.0', name=op.f('ck_sequences_planned_duration_s')),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
            name=op.f('fk_sequences_request_id_requests'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['target_id'], ['targets.id'],
            name=op.f('fk_sequences_target_id_targets'), ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sequences'))
    )
    op.create_index(op.f('ix_sequences_request_id'), 'sequences', ['request_id'])
    op.create_index(op.f('ix_sequences_status'), 'sequences', ['status'])
    op.create_index(op.f('ix_sequences_target_id'), 'sequences', ['target_id'])

    op.create_table('albums',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sequence_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('detector_id', sa.Integer(), nullable=False),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_albums_name')),
        sa.ForeignKeyConstraint(['detector_id'], ['devices.id'],
            name=op.f('fk_albums_detector_id_devices'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['sequence_id'], ['sequences.id'],
            name=op.f('fk_albums_sequence_id_sequences'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_albums'))
    )
    op.create_index(op.f('ix_albums_detector_id'), 'albums', ['detector_id'])
    op.create_index(op.f('ix_albums_sequence_id'), 'albums', ['sequence_id'])

    op.create_table('observing_constraints',
        sa.Column('sequence_id', sa.Integer(), nullable=False),
        sa.Column('priority', sa.Double(), nullable=False),
        sa.Column('preferred_time', sa.DateTime(timezone=True), nullable=True),
        sa.Column('max_airmass', sa.Double(), nullable=True),
        sa.Column('min_moon_distance_deg', sa.Double(), nullable=True),
        sa.CheckConstraint('max_airmass >= 1.0', name=op.f('ck_observing_constraints_max_airmass')),
        sa.CheckConstraint('min_moon_distance_deg >= 0.0 AND min_moon_distance_deg <= 180.0',
            name=op.f('ck_observing_constraints_min_moon_distance_deg')),
        sa.CheckConstraint('priority > 0.0', name=op.f('ck_observing_constraints_priority')),
        sa.ForeignKeyConstraint(['sequence_id'], ['sequences.id'],
            name=op.f('fk_observing_constraints_sequence_id_sequences'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sequence_id', name=op.f('pk_observing_constraints'))
    )

    op.create_table('schedule_entries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('sequence_id', sa.Integer(), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('end_at > start_at', name=op.f('ck_schedule_entries_ordered')),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'],
            name=op.f('fk_schedule_entries_schedule_id_schedules'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sequence_id'], ['sequences.id'],
            name=op.f('fk_schedule_entries_sequence_id_sequences'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_entries')),
        sa.UniqueConstraint('schedule_id', 'sequence_id', name=op.f('uq_schedule_entries_schedule_id_sequence_id'))
    )
    op.create_index(op.f('ix_schedule_entries_schedule_id'), 'schedule_entries', ['schedule_id'])
    op.create_index(op.f('ix_schedule_entries_sequence_id'), 'schedule_entries', ['sequence_id'])

    op.create_table('images',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=1024), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('exposure_s', sa.Double(), nullable=True),
        sa.Column('filter_name', sa.String(length=40), nullable=True),
        sa.Column('headers', sa.JSON(), nullable=False),
        sa.Column('detector_id', sa.Integer(), nullable=True),
        sa.Column('request_id', sa.Integer(), nullable=True),
        sa.Column('sequence_id', sa.Integer(), nullable=True),
        sa.Column('album_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('exposure_s >= 0.0', name=op.f('ck_images_exposure_s')),
        sa.CheckConstraint('length(trim(path)) > 0', name=op.f('ck_images_path')),
        sa.ForeignKeyConstraint(['album_id'], ['albums.id'],
            name=op.f('fk_images_album_id_albums'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['detector_id'], ['devices.id'],
            name=op.f('fk_images_detector_id_devices'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['request_id'], ['requests.id'],
            name=op.f('fk_images_request_id_requests'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['sequence_id'], ['sequences.id'],
            name=op.f('fk_images_sequence_id_sequences'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
        sa.UniqueConstraint('path', name=op.f('uq_images_path'))
    )
    op.create_index(op.f('ix_images_album_id'), 'images', ['album_id'])
    op.create_index(op.f('ix_images_request_id'), 'images', ['request_id'])
    op.create_index(op.f('ix_images_sequence_id'), 'images', ['sequence_id'])
    op.create_index(op.f('ix_images_taken_at'), 'images', ['taken_at'])

    op.create_table('plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('album_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('filter_name', sa.String(length=40), nullable=True),
        sa.Column('exposure_s', sa.Double(), nullable=False),
        sa.Column('image_count', sa.Integer(), nullable=False),
        sa.CheckConstraint('exposure_s > 0.0', name=op.f('ck_plans_exposure_s')),
        sa.CheckConstraint('image_count >= 1', name=op.f('ck_plans_image_count')),
        sa.CheckConstraint('length(trim(name)) > 0', name=op.f('ck_plans_name')),
        sa.ForeignKeyConstraint(['album_id'], ['albums.id'], name=op.f('fk_plans_album_id_albums'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_plans'))
    )
    op.create_index(op.f('ix_plans_album_id'), 'plans', ['album_id'])

    op.create_table('time_windows',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sequence_id', sa.Integer(), nullable=False),
        sa.Column('start_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('end_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('end_at > start_at', name=op.f('ck_time_windows_ordered')),
        sa.ForeignKeyConstraint(['sequence_id'], ['observing_constraints.sequence_id'],
            name=op.f('fk_time_windows_sequence_id_observing_constraints'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_time_windows'))
    )
    op.create_index(op.f('ix_time_windows_sequence_id'), 'time_windows', ['sequence_id'])


def downgrade() -> None:
    """Drop every table (indexes and constraints go with them)."""
    op.drop_table('time_windows')
    op.drop_table('plans')
    op.drop_table('images')
    op.drop_table('schedule_entries')
    op.drop_table('observing_constraints')
    op.drop_table('albums')
    op.drop_table('sequences')
    op.drop_table('quota_charges')
    op.drop_table('alerts')
    op.drop_table('requests')
    op.drop_table('scientific_programs')
    op.drop_table('quotas')
    op.drop_table('users')
    op.drop_table('targets')
    op.drop_table('schedules')
    op.drop_table('environment_history')
    op.drop_table('devices')
    op.drop_table('countries')
    op.drop_table('audit_log')
