// Bodies of /api/v1 (being written).
