//! heqet's REST service.
