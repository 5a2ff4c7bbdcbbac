"""The Dask engine (`engine.kind: dask`, `pip install "churn[dask]"`): the same stage logic run on a Dask cluster.

The validated history is written in parts by a hash of the customer id (`write_partitions`), so every customer's
rows sit in one part; each part's features are computed on a worker by the local engine's own function
(`churn.features.customer_features`) and put back in the population's order, bit for bit the local engine's;
the churn model's boosters are trained with `lightgbm.dask` across the workers (`churn.model.booster_fit_on`);
scoring and explaining (TreeSHAP) run per part on the workers (`PartitionedModel`).
Dask itself schedules the work (`open_client`: a running scheduler or a LocalCluster); nothing here imports
Dask until it is asked for.
"""

from churn.cluster._client import SCHEDULER_ENV, local_cluster_options, open_client, running_cluster
from churn.cluster._features import partitioned_features
from churn.cluster._partitions import HistoryParts, map_parts, partition_of, write_partitions
from churn.cluster._scoring import PartitionedModel

__all__ = [
    "HistoryParts", "PartitionedModel", "SCHEDULER_ENV", "local_cluster_options", "map_parts", "open_client",
    "partition_of", "partitioned_features", "running_cluster", "write_partitions",
]
