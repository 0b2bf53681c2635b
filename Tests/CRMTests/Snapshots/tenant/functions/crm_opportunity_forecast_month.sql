CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_forecast_month(status text, expected_close_date date, won_at timestamp with time zone)
 RETURNS date
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT CASE status WHEN 'open' THEN date_trunc('month', expected_close_date)::date
                       WHEN 'won' THEN date_trunc('month', won_at AT TIME ZONE 'UTC')::date END
$function$
