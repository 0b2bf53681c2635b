CREATE TABLE visits (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    customer_id uuid NOT NULL REFERENCES customers(id),
    visited_at timestamptz NOT NULL DEFAULT now(),
    place text COLLATE "C",
    latitude numeric(9, 6),
    longitude numeric(9, 6),
    notes text COLLATE "C"
);

CREATE INDEX visits_owner_idx ON visits (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_created_idx ON visits (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_updated_idx ON visits (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_deleted_idx ON visits (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX visits_customer_idx ON visits (customer_id, visited_at DESC) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('visit', 'Visit', 'Visits', 'visits', 'activities', 12);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('visit', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 1),
    ('visit', 'visited_at', 'Visited at', 'datetime', 'visited_at', false, false, false, true, false, '{}', NULL, 2),
    ('visit', 'place', 'Place', 'text', 'place', false, false, false, true, true, '{"max_length": 300}', NULL, 3),
    ('visit', 'latitude', 'Latitude', 'decimal', 'latitude', false, false, false, true, false, '{"precision": 9, "scale": 6, "min": -90, "max": 90}', NULL, 4),
    ('visit', 'longitude', 'Longitude', 'decimal', 'longitude', false, false, false, true, false, '{"precision": 9, "scale": 6, "min": -180, "max": 180}', NULL, 5),
    ('visit', 'notes', 'Notes', 'long_text', 'notes', false, false, false, true, false, '{}', NULL, 6);
