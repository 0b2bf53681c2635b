-- Registrations (报备) are decided through the approvals engine: each new one is a request of
-- the built-in process below, published as version 1 with one step, the requester's manager
-- (one level of the manager chain; tenant admins when there is none). Tenant admins edit and
-- publish later versions of it like any process. A request that ends brings its registration
-- along: approved, rejected, or recalled / cancelled (the two new statuses; neither reserves).
-- Registrations pending before this migration have no request; they are decided as before.

ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('pending', 'approved', 'rejected', 'recalled', 'cancelled'));

INSERT INTO approval_processes (id, object, name, description, priority, draft, active_version, builtin, created_at, updated_at)
VALUES (gen_random_uuid(), 'registration', 'Registration of a prospect (报备)',
        'Built in (leads): a rep''s registration of a prospect, decided by their manager.', 0, NULL, 1, 'leads.registration',
        now(), now())
ON CONFLICT (builtin) DO NOTHING;
INSERT INTO approval_process_versions (process_id, version, definition, status, published_at)
SELECT id, 1, '{"entry_criteria": null, "allow_recall": true, "watched_fields": [], "dedupe_consecutive_approver": true,
                "steps": [{"name": "Manager", "approvers": {"type": "manager_chain", "levels": 1}, "mode": "any", "criteria": null,
                           "empty_approver": "to_admin", "timeout": null, "editable_fields": []}]}'::jsonb,
       'published', now()
FROM approval_processes WHERE builtin = 'leads.registration'
ON CONFLICT (process_id, version) DO NOTHING;
