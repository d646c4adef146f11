-- The size of each batch the Kafka handler was given.
CREATE TABLE batches (id bigserial PRIMARY KEY, size integer NOT NULL);
