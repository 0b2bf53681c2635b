CREATE TABLE credit_note_lines (
    id uuid NOT NULL,
    credit_note_id uuid NOT NULL,
    invoice_line_id uuid,
    description text NOT NULL,
    amount_minor bigint NOT NULL
);
ALTER TABLE credit_note_lines ADD CONSTRAINT credit_note_lines_amount_minor_check CHECK ((amount_minor > 0));
ALTER TABLE credit_note_lines ADD CONSTRAINT credit_note_lines_credit_note_id_fkey FOREIGN KEY (credit_note_id) REFERENCES credit_notes(id);
ALTER TABLE credit_note_lines ADD CONSTRAINT credit_note_lines_invoice_line_id_fkey FOREIGN KEY (invoice_line_id) REFERENCES invoice_lines(id);
ALTER TABLE credit_note_lines ADD CONSTRAINT credit_note_lines_pkey PRIMARY KEY (id);
CREATE TRIGGER credit_note_lines_immutable BEFORE DELETE OR UPDATE ON platform.credit_note_lines FOR EACH ROW EXECUTE FUNCTION credit_notes_immutable();
