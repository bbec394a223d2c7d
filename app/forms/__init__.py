"""XLSForm survey definitions: loading (pyxform), the expression subset and answer validation."""
