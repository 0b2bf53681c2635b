-- A plan added to the catalog after 0007 (by a later migration, or a test's own plan) gets its
-- published version 1 from the same row at once, so a tenant can be provisioned on it: provisioning
-- subscribes to the newest published version and refuses a plan without one.

CREATE FUNCTION platform.plan_first_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO platform.plan_versions (id, plan_id, version, currency, seat_price_minor, max_seats, modules, limits,
                                        trial_days, tier_rank, published_at)
    VALUES (gen_random_uuid(), NEW.id, 1, NEW.currency, NEW.price_per_seat_minor, (NEW.limits->>'seats')::int,
            NEW.modules, NEW.limits, 14,
            (SELECT count(*) FROM platform.plans p WHERE p.price_per_seat_minor <= NEW.price_per_seat_minor)::int,
            now())
    ON CONFLICT (plan_id, version) DO NOTHING;
    RETURN NEW;
END $$;

CREATE TRIGGER plan_first_version AFTER INSERT ON platform.plans
    FOR EACH ROW EXECUTE FUNCTION platform.plan_first_version();
