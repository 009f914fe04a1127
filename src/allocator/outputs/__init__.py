"""The run folder: file names, tables, result.json, workbook, report, and the ledger."""
