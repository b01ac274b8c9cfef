"""The strings the pages' scripts show, by key, from the message catalogs.

Scripts never carry text of their own: the page hands them these (translated) as JSON, and
`{name}` placeholders are filled in the browser.
"""

from __future__ import annotations

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

CHAT = {
    "marker": _l("Source {id}: {title}"),
    "sources": _l("Sources"),
    "sources_one": _l("1 source"),
    "sources_many": _l("{n} sources"),
    "show_in_document": _l("Show in document"),
    "loading_document": _l("Loading the document…"),
    "showing_source": _l("Showing source {id} with the cited passage highlighted."),
    "document_failed": _l("Could not load the document: {error}"),
    "comment": _l("Comment (optional)"),
    "comment_placeholder": _l("What was right or wrong? (optional)"),
    "send_feedback": _l("Send feedback"),
    "good_answer": _l("Good answer"),
    "bad_answer": _l("Bad answer"),
    "feedback_saved": _l("Thanks — your feedback was saved."),
    "feedback_failed": _l("Not saved: {error}"),
    "copy": _l("Copy"),
    "copied": _l("Answer copied."),
    "copy_blocked": _l("Copying is blocked here; select the text instead."),
    "not_in_sources": _l("Not in the sources"),
    "why": _l("Why: {reason}"),
    "searching": _l("Searching the documents…"),
    "stream_ended": _l("the answer stream ended early"),
    "not_covered": _l("The sources do not cover this question."),
    "answer_ready": _l("Answer ready."),
    "no_answer": _l("Sorry, no answer: {error}"),
    "new_conversation": _l("New conversation."),
    "status": _l("the service answered {status}"),
    "unreachable": _l("the service could not be reached; check the connection"),
    "retry": _l("Try again"),
    "fallback": _l("The language model did not answer in time, so the offline method answered: "
                   "sentences quoted from the sources."),
    "checked_clean": _l("Checked against the sources: every sentence is supported as cited."),
    "checked_changed": _l("Checked against the sources: sentences removed for lack of support: "
                          "{removed}; citations corrected: {recited}."),
}

DOCUMENTS = {
    "delete": _l("Delete"),
    "delete_label": _l("Delete {title}"),
    "everyone": _l("everyone"),
    "need_key": _l("Enter the admin key to see and change documents."),
    "list_failed": _l("Could not list documents: {error}"),
    "documents_one": _l("1 document"),
    "documents_many": _l("{n} documents"),
    "indexing_note": _l("{count}, indexing…"),
    "no_documents": _l("No documents yet."),
    "queued_file": _l("{name}: queued"),
    "deleting_doc": _l("{title}: deleting"),
    "not_deleted": _l("Not deleted: {error}"),
    "status_queued": _l("queued"),
    "status_indexing": _l("indexing"),
    "status_ready": _l("ready"),
    "status_failed": _l("failed"),
    "status_deleting": _l("deleting"),
    "status_unknown": _l("status {status}"),
    "confirm_document": _l("Delete {title}? Readers will no longer get answers from it."),
}

CONSOLE = {
    **DOCUMENTS,
    "unreachable": CHAT["unreachable"],
    "key_refused": _l("This key was refused: {error}"),
    "open": _l("Open"),
    "open_label": _l("Open {name}"),
    "collections_count": _l("Knowledge bases: {n}"),
    "not_created": _l("Not created: {error}"),
    "confirm_collection": _l("Delete the knowledge base {name} and every document in it? "
                             "This cannot be undone."),
    "collection_deleted": _l("{name} was deleted."),
    "title_of": _l("Title of {title}"),
    "groups_of": _l("Groups of {title}"),
    "save": _l("Save"),
    "saved": _l("{title}: saved, indexing again"),
    "not_saved": CHAT["feedback_failed"],
    "cancel": _l("Cancel"),
    "edit": _l("Edit"),
    "edit_label": _l("Edit {title}"),
    "pending_note": _l("{count}, {n} in progress…"),
    "import_started": _l("Import of {url} started"),
    "import_failed": _l("The import did not start: {error}"),
    "report": _l("Report"),
    "examples_saved": _l("Examples saved"),
    "examples_not_saved": _l("Examples not saved: {error}"),
}

WIDGET = {
    "title": _l("Ask the documents"),
    "open": _l("Open {title}"),
    "close": _l("Close {title}"),
    "refused": _l("This page may not show the assistant: the service does not allow {origin}. "
                  "Its operator can add this address to CITEQA_ALLOWED_ORIGINS."),
    "down": _l("The assistant cannot be reached right now. Try again in a moment."),
    "retry": _l("Try again"),
}


def resolved(strings: dict[str, LazyString]) -> dict[str, str]:
    """Return the strings in the request's language."""
    return {key: str(value) for key, value in strings.items()}
