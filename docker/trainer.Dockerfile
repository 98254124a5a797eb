# The training image: the Unsloth image plus our standalone trainer package.
#   docker build -f docker/trainer.Dockerfile -t academy-trainer:latest .
#   TRAINING_IMAGE=academy-trainer:latest
# The worker also mounts the current trainer code read-only at /opt/academy, so a code
# change does not need a rebuild; the copy below makes the image usable on its own.
ARG BASE_IMAGE=unsloth/unsloth:latest
FROM ${BASE_IMAGE}

ENV PYTHONPATH=/opt/academy \
    PYTHONUNBUFFERED=1 \
    HF_HUB_DISABLE_TELEMETRY=1

COPY training/__init__.py /opt/academy/training/__init__.py
COPY training/trainer /opt/academy/training/trainer

WORKDIR /academy/run
ENTRYPOINT []
CMD ["python3", "-m", "training.trainer", "--help"]
