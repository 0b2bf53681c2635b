-- An operator's lock on a tenant, kept apart from its billing status: paying never clears it,
-- lifting it never grants what was not paid for. NULL: not locked; else who, when and why.

ALTER TABLE platform.tenants ADD COLUMN admin_lock jsonb
    CHECK (admin_lock IS NULL OR (jsonb_typeof(admin_lock) = 'object' AND admin_lock ? 'reason' AND admin_lock ? 'at'));
