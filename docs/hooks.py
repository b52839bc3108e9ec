"""An MkDocs hook: the repository's address, written once (``repo_url`` in mkdocs.yml), in the pages.

A page writes ``{{ repo_url }}`` for the repository's address (links to its files:
``{{ repo_url }}/blob/main/functions.py``) and ``{{ colab_url }}`` for the same files opened in
Google Colab (``{{ colab_url }}/notebooks/lesson.ipynb``).
"""


def colab_url(repo_url):
    """Colab's address for the main branch of a GitHub repository."""
    return repo_url.replace("https://github.com/", "https://colab.research.google.com/github/", 1) + "/blob/main"


def on_page_markdown(markdown, page, config, files):
    repo_url = config["repo_url"].rstrip("/")
    return markdown.replace("{{ repo_url }}", repo_url).replace("{{ colab_url }}", colab_url(repo_url))
