-- +goose Up
-- A sync retries a transient failure on its own schedule, computed from the
-- clock (docs/spark/INTEGRATION.md "Retries"): when the next attempt is due,
-- and until when it keeps trying (SPARK_SYNC_RETRY_WINDOW after the first
-- failure). file_problems is a JSON array of the files a sync could not
-- import ({"filename","reason"}), shown to admins and to Spark.
ALTER TABLE spark_evidence_sync_queue ADD COLUMN next_attempt_at TIMESTAMP;
ALTER TABLE spark_evidence_sync_queue ADD COLUMN retry_until TIMESTAMP;
ALTER TABLE spark_evidence_sync_queue ADD COLUMN file_problems TEXT;
CREATE INDEX spark_sync_queue_next_attempt_idx ON spark_evidence_sync_queue(next_attempt_at);
-- An image a browser cannot show (TIFF, BMP, HEIC) keeps its original in
-- file_id and a web rendition (JPEG) in preview_file_id.
ALTER TABLE evidence_document_blocks ADD COLUMN preview_file_id TEXT REFERENCES files(id);

-- +goose Down
ALTER TABLE evidence_document_blocks DROP COLUMN preview_file_id;
DROP INDEX spark_sync_queue_next_attempt_idx;
ALTER TABLE spark_evidence_sync_queue DROP COLUMN file_problems;
ALTER TABLE spark_evidence_sync_queue DROP COLUMN retry_until;
ALTER TABLE spark_evidence_sync_queue DROP COLUMN next_attempt_at;
