"""Dataset formats, one module each, registered by kind."""

from curation.pipeline.exporters.alpaca import AlpacaExporter
from curation.pipeline.exporters.messages import MessagesExporter
from curation.pipeline.exporters.sharegpt import ShareGPTExporter

EXPORTERS = {
    "alpaca": AlpacaExporter,
    "sharegpt": ShareGPTExporter,
    "messages": MessagesExporter,
}
