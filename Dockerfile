# Backhaul gateway image: `docker build -t backhaul .` then
#   docker run -p 8080:8080 -e REDIS_URL=redis://redis:6379/0 -e BACKHAUL_HOST=0.0.0.0 backhaul
# Without REDIS_URL the container starts an embedded Redis under /app/var (mount a volume there).

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/backhaul
ENV PATH=/opt/backhaul/bin:$PATH
COPY pyproject.toml README.md ./
COPY carriers carriers
COPY normalizers normalizers
COPY gateway gateway
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 backhaul
COPY --from=build /opt/backhaul /opt/backhaul
WORKDIR /app
COPY --chown=backhaul:backhaul config config
RUN mkdir -p var && chown backhaul:backhaul var
USER backhaul
ENV PATH=/opt/backhaul/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BACKHAUL_HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["backhaul", "serve"]
