"""`/hospital/`: hospital data managers' web pages, for a hospital without an integration engine.

A signed-in submitter account (tied to its institution, like its tokens) enters,
corrects and asks to withdraw its own cases through a form, and imports many from
a CSV. Nothing here validates a case: the form's fields become the API's JSON and
go through the API's serializer and the registry's services, and the CSV's rows go
through the batch path, so a person sees the API's messages, soft edits included.
"""
