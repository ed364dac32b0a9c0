DROP TABLE backups.threshold_changes;
