// Every text of the phone app in Vietnamese (default) and English; the choice is remembered.

const STRINGS = {
  vi: {
    app_title: "Khảo sát hộ gia đình",
    language_button: "English",
    home: "Trang chính",
    new_survey: "Bắt đầu khảo sát mới",
    my_surveys: "Khảo sát của tôi",
    no_surveys: "Bạn chưa có khảo sát nào trên điện thoại này.",
    outbox: "Hộp thư đi",
    settings: "Cài đặt",
    sync_now: "Gửi ngay",
    syncing: "Đang gửi…",
    syncing_slow: "Mạng chậm hoặc mất kết nối: vẫn đang chờ gửi. Khảo sát vẫn được lưu an toàn trên điện thoại.",
    status_draft: "Bản nháp",
    status_pending: "Chờ gửi",
    status_sent: "Đã gửi",
    status_failed: "Gửi lỗi",
    count_pending: "{n} chờ gửi",
    count_sent: "{n} đã gửi",
    count_failed: "{n} lỗi",
    count_draft: "{n} bản nháp",
    edit: "Sửa",
    delete_draft: "Xóa bản nháp",
    confirm_delete: "Xóa bản nháp này? Không thể khôi phục.",
    started: "Bắt đầu {time}",
    finished: "Hoàn thành {time}",
    draft_again: "Đã sửa sau khi hoàn thành: bấm Hoàn thành lại để gửi.",
    left_draft_again: "Khảo sát đã sửa nên thành bản nháp: mở lại và bấm Hoàn thành để gửi.",
    still_waiting: "Không có thay đổi: khảo sát vẫn chờ gửi.",
    untitled: "Chưa có tên",
    collector_label: "Tên hoặc mã tình nguyện viên",
    collector_hint: "Được gửi kèm mỗi khảo sát, ví dụ tnv-07.",
    collector_required: "Hãy nhập tên hoặc mã của bạn.",
    save: "Lưu",
    back: "Quay lại",
    next: "Tiếp",
    finish: "Hoàn thành",
    exit_survey: "Thoát (lưu nháp)",
    step: "Phần {n}/{total}",
    required: "Bắt buộc trả lời câu này.",
    constraint: "Câu trả lời không hợp lệ.",
    not_integer: "Phải là một số nguyên, ví dụ 4.",
    not_number: "Phải là một số, ví dụ 2.5.",
    text_too_long: "Quá dài (tối đa {max} ký tự).",
    invalid_date: "Ngày không hợp lệ.",
    expression_error: "Biểu mẫu có biểu thức không dùng được: {detail}",
    invalid_time: "Giờ không hợp lệ.",
    invalid_location: "Vị trí không hợp lệ.",
    geoshape_too_few: "Ranh giới cần ít nhất 3 điểm khác nhau.",
    geoshape_no_area: "Các điểm nằm trên một đường thẳng, không bao quanh khu vực nào. Hãy đi bộ vòng quanh khu.",
    geo_too_many_points: "Quá nhiều điểm: tối đa 20.000 điểm cho một ranh giới hay một đường đi. Hãy xóa bớt rồi đi lại.",
    not_a_choice: "Hãy chọn một trong các lựa chọn đang hiện.",
    out_of_range: "Ngoài khoảng cho phép.",
    rank_repeated: "Mỗi lựa chọn chỉ xếp một lần.",
    rank_incomplete: "Hãy xếp hạng tất cả các lựa chọn.",
    number_too_large: "Số quá lớn.",
    invalid_file_name: "Tên tệp không hợp lệ.",
    not_text: "Phải là chữ.",
    repeat_count: "({n})",
    repeat_item: "{label} {n}",
    repeat_add: "+ Thêm {label}",
    repeat_remove: "Xóa",
    repeat_confirm_remove: "Xóa {label} {n} cùng mọi câu trả lời của mục này?",
    fix_errors: "Còn câu chưa trả lời đúng; xem thông báo màu đỏ.",
    gps_title: "Vị trí GPS",
    gps_searching: "Đang tìm vị trí GPS…",
    gps_accuracy: "Độ chính xác: ±{m} m",
    gps_recorded: "Đã ghi vị trí: {lat}, {lon}",
    gps_poor: "Độ chính xác kém (trên {limit} m). Hãy ra chỗ thoáng và chờ vị trí tốt hơn.",
    gps_wait_better: "Chờ vị trí chính xác hơn",
    // Widgets (widgets.js, map.js)
    map_label: "Bản đồ (không có nền, dùng được khi không có mạng)",
    map_unavailable: "Không mở được bản đồ.",
    zoom_in: "Phóng to",
    zoom_out: "Thu nhỏ",
    field_id: "Mã khảo sát",
    field_form_id: "Biểu mẫu",
    field_form_version: "Phiên bản biểu mẫu",
    field_collected_at: "Thời điểm hoàn thành",
    field_finished_at: "Thời điểm hoàn thành lần cuối",
    field_sent_at: "Giờ của điện thoại khi gửi",
    field_collector: "Tên tình nguyện viên",
    field_city: "Thành phố",
    field_location: "Vị trí GPS",
    field_lat: "Vĩ độ",
    field_lon: "Kinh độ",
    field_accuracy: "Độ chính xác GPS",
    field_altitude: "Độ cao",
    field_answers: "Các câu trả lời",
    field_unknown_answer: "Câu hỏi “{name}”",
    gps_place_by_hand: "Đặt vị trí bằng tay trên bản đồ",
    gps_use_gps: "Dùng lại vị trí GPS",
    gps_recorded_manual: "Đã đặt vị trí bằng tay: {lat}, {lon}",
    gps_manual: "Vị trí đặt bằng tay",
    gps_tap_map: "Chạm vào bản đồ tại vị trí của hộ.",
    gps_drag_point: "Kéo điểm nếu cần chỉnh lại. Vị trí này được ghi là đặt bằng tay.",
    geo_walk_start: "Bắt đầu đi và ghi",
    geo_walk_pause: "Tạm dừng",
    geo_walk_resume: "Tiếp tục đi và ghi",
    geo_undo: "Xóa điểm cuối",
    geo_clear: "Xóa hết các điểm",
    geo_clear_confirm: "Xóa hết các điểm đã ghi?",
    geo_shape_points: "Vùng có {n} điểm (tự khép về điểm đầu).",
    geo_trace_points: "Đường có {n} điểm.",
    geo_need_points: "Đã có {n} điểm; cần ít nhất {min} điểm khác nhau.",
    geo_shape_hint: "Đi quanh ranh giới: mỗi vị trí GPS tốt (dưới 20 m) thêm một điểm. Hoặc chạm vào bản đồ để thêm điểm.",
    geo_trace_hint: "Đi dọc đường: mỗi vị trí GPS tốt (dưới 20 m) thêm một điểm. Hoặc chạm vào bản đồ để thêm điểm.",
    audio_record: "Ghi âm bằng ứng dụng khác / chọn tệp",
    audio_replace: "Chọn bản ghi âm khác",
    audio_record_now: "Ghi âm ngay",
    audio_stop: "Dừng ghi âm",
    audio_recording: "Đang ghi âm… {time}",
    audio_no_microphone: "Không dùng được micrô; hãy cho phép ứng dụng dùng micrô, hoặc chọn một tệp ghi âm.",
    audio_wrong_type: "Tệp này không phải bản ghi âm được nhận (WebM, Ogg, M4A, MP3, AAC, AMR, WAV).",
    file_choose: "Chọn tệp",
    file_replace: "Chọn tệp khác",
    file_remove: "Xóa tệp",
    file_kept: "Đã lưu trên điện thoại: {name} ({size}), sẽ gửi kèm khảo sát.",
    file_wrong_type: "Loại tệp này không được nhận (PDF, TXT, CSV, ZIP, DOCX, XLSX, ODT, JPG, PNG).",
    file_too_large: "Tệp quá lớn (tối đa {max}).",
    file_empty: "Tệp rỗng.",
    file_failed: "Không lưu được tệp.",
    rank_hint: "Dùng nút ▲ ▼ để xếp: quan trọng nhất ở trên cùng.",
    rank_keep: "Giữ thứ tự này",
    rank_up: "Đưa “{label}” lên",
    rank_down: "Đưa “{label}” xuống",
    range_unset: "Chưa chọn",
    range_clear: "Bỏ chọn",
    time_now: "Bây giờ",
    barcode_type_it: "Gõ mã vào ô trên (điện thoại này không quét được mã).",
    barcode_scan: "Quét mã bằng camera",
    barcode_stop: "Dừng quét",
    barcode_point: "Hướng camera vào mã…",
    barcode_read: "Đã đọc mã.",
    barcode_no_camera: "Không mở được camera; hãy gõ mã.",
    dropdown_choose: "— Chọn —",
    acknowledge_ok: "Đồng ý (OK)",
    gps_waiting: "Đang chờ vị trí mới…",
    gps_denied:
      "Ứng dụng không được phép dùng vị trí. Hãy bật quyền Vị trí cho trang này trong cài đặt " +
      "trình duyệt rồi tải lại trang.",
    gps_unavailable: "Không lấy được vị trí GPS. Hãy bật GPS và ra chỗ thoáng.",
    gps_timeout: "Chưa bắt được GPS, vẫn đang tìm…",
    gps_unsupported: "Điện thoại này không hỗ trợ định vị.",
    gps_missing: "Chưa có vị trí GPS. Chờ điện thoại bắt được GPS.",
    photo_take: "Chụp ảnh",
    photo_replace: "Chụp lại",
    photo_remove: "Xóa ảnh",
    photo_processing: "Đang xử lý ảnh…",
    photo_failed: "Không đọc được ảnh này.",
    photo_waiting: "Ảnh chờ gửi",
    photo_refused: "Máy chủ không nhận tệp này (tệp vẫn được giữ trên điện thoại):",
    photo_missing: "tệp không còn trên điện thoại",
    file_retry: "Gửi lại",
    file_remove: "Bỏ tệp này",
    confirm_file_remove: "Bỏ tệp {name} khỏi điện thoại? Máy chủ chưa có tệp này, nó sẽ mất hẳn.",
    user_unknown: "Chưa biết tài khoản đang đăng nhập (máy chủ chưa trả lời). Hãy bật mạng và thử lại sau ít phút; các khảo sát vẫn được giữ trên điện thoại.",
    select_hint: "Chọn một hoặc nhiều",
    offline: "Đang ngoại tuyến: khảo sát được lưu trên điện thoại và sẽ gửi khi có mạng.",
    online: "Có mạng",
    offline_ready: "Dùng được khi không có mạng",
    forms_unavailable:
      "Chưa tải được biểu mẫu. Hãy mở ứng dụng một lần khi có mạng để tải biểu mẫu.",
    saved_pending: "Đã lưu. Khảo sát sẽ được gửi khi có mạng.",
    saved_sending: "Đã lưu. Đang gửi khảo sát…",
    saved_sent: "Đã lưu và đã gửi khảo sát.",
    saved_failed: "Đã lưu, nhưng máy chủ chưa nhận khảo sát: xem lý do trong Hộp thư đi.",
    sync_done: "Đã gửi {n} khảo sát.",
    sync_network_error: "Không gửi được (mất mạng). Sẽ thử lại sau {s} giây.",
    sync_server_error: "Máy chủ đang lỗi ({status}). Sẽ thử lại sau {s} giây.",
    sync_server_busy: "Máy chủ đang bận ({status}), khảo sát vẫn chờ gửi. Sẽ thử lại sau {s} giây.",
    sync_not_server: "Mạng trả lời thay máy chủ ({status}; Wi-Fi cần đăng nhập?), khảo sát vẫn chờ gửi. Sẽ thử lại sau {s} giây.",
    sync_whoami: "Chưa gửi: máy chủ chưa cho biết tài khoản đang đăng nhập. Sẽ thử lại sau {s} giây.",
    sync_nothing: "Không có khảo sát nào chờ gửi.",
    sync_waiting: "{n} khảo sát chờ gửi.",
    sync_waiting_offline: "{n} khảo sát chờ gửi: đang không có mạng, sẽ gửi khi có mạng.",
    sync_offline: "Đang không có mạng: chưa gửi gì. Sẽ gửi khi có mạng.",
    last_error: "Lần thử trước: {detail}",
    server_errors: "Máy chủ từ chối:",
    not_supported_question: "Loại câu hỏi '{type}' chưa được ứng dụng hỗ trợ.",
    yes: "Có",
    no: "Không",
    view: "Xem",
    storage_full:
      "Bộ nhớ điện thoại đã đầy: không lưu được thay đổi mới. Các câu trả lời đã lưu trước đó " +
      "vẫn còn. Hãy gửi các khảo sát đang chờ, rồi xóa bớt ảnh hoặc ứng dụng không dùng.",
    storage_failed: "Không lưu được trên điện thoại ({detail}). Các câu trả lời đã lưu trước đó vẫn còn.",
    changed_elsewhere: "Khảo sát này vừa được sửa ở một thẻ khác; đang hiện bản mới nhất.",
    deleted_elsewhere: "Khảo sát này đã bị xóa ở một thẻ khác nên không lưu được nữa.",
    readonly_sent:
      "Đã gửi: khảo sát này không sửa được trên điện thoại nữa. Nếu người kiểm duyệt yêu cầu " +
      "sửa, nó sẽ mở lại được ở đây.",
    readonly_unconfirmed:
      "Khảo sát đã được gửi đi nhưng máy chủ chưa xác nhận, nên không sửa được nữa (máy chủ " +
      "không được nhận hai bản khác nhau). Khi có mạng, ứng dụng sẽ gửi lại đúng bản này.",
    readonly_conflict:
      "Máy chủ đã có một bản khác của khảo sát này nên không nhận bản này. Đừng khảo sát lại " +
      "hộ này; hãy báo người kiểm duyệt.",
    answers_removed: "Câu trả lời đã được xóa khỏi điện thoại (máy chủ vẫn giữ).",
    photo_attached: "Có ảnh",
    no_answer: "—",
    location_label: "Vị trí",
    clear_sent: "Xóa khảo sát đã gửi khỏi điện thoại",
    confirm_clear_sent: "Xóa {n} khảo sát đã gửi khỏi điện thoại? Máy chủ vẫn giữ chúng.",
    cleared_sent: "Đã xóa {n} khảo sát đã gửi khỏi điện thoại.",
    sent_kept:
      "Khảo sát đã gửi được giữ trên điện thoại {days} ngày, sau đó câu trả lời được xóa. " +
      "Khảo sát chưa gửi không bao giờ bị xóa.",
    sync_phone_error: "Lỗi trên điện thoại ({detail}). Sẽ thử lại sau {s} giây.",
    sign_in_title: "Đăng nhập",
    signin_qr_title: "Quét mã QR",
    signin_qr_text:
      "Mở ứng dụng Máy ảnh của điện thoại và quét mã QR do cán bộ quản trị đưa cho bạn. Điện " +
      "thoại sẽ mở ứng dụng này và tự đăng nhập, không cần mật khẩu. Mỗi mã chỉ dùng được một lần.",
    signin_password_title: "Hoặc đăng nhập bằng mật khẩu",
    username: "Tên đăng nhập",
    password: "Mật khẩu",
    sign_in: "Đăng nhập",
    signing_in: "Đang đăng nhập…",
    signin_missing: "Hãy nhập tên đăng nhập và mật khẩu.",
    signin_network: "Không kết nối được máy chủ. Hãy kiểm tra mạng rồi thử lại.",
    signin_failed: "Không đăng nhập được. Hãy thử lại.",
    enrol_refused:
      "Mã QR này không dùng được nữa (đã dùng hoặc đã hết hạn). Mỗi mã chỉ dùng được một lần: " +
      "hãy xin cán bộ quản trị một mã mới.",
    bad_credentials: "Sai tên đăng nhập hoặc mật khẩu.",
    try_again: "Thử lại",
    signed_in_as: "Đã đăng nhập: {name}",
    account: "Tài khoản",
    sign_out: "Đăng xuất",
    cancel: "Hủy",
    confirm_sign_out:
      "Còn {n} khảo sát chưa gửi. Chúng vẫn được giữ trên điện thoại này và sẽ được gửi khi " +
      "bạn đăng nhập lại. Vẫn đăng xuất?",
    confirm_sign_out_unsent:
      "Còn {n} khảo sát chưa gửi, trong đó {m} gửi lỗi hoặc đang sửa. Chúng vẫn được giữ trên " +
      "điện thoại này: khi bạn đăng nhập lại, khảo sát chờ gửi sẽ được gửi, khảo sát gửi lỗi hoặc " +
      "đang sửa cần bạn sửa rồi gửi. Vẫn đăng xuất?",
    confirm_enrol_switch:
      "Mã QR này đăng nhập điện thoại bằng tài khoản của mã, thay cho {name}. Còn {n} khảo sát " +
      "chưa gửi của {name}: chúng vẫn được giữ trên điện thoại này, chờ {name} đăng nhập lại. " +
      "Vẫn đăng nhập bằng mã QR?",
    confirm_sign_out_cash_book:
      "Sổ quỹ còn {n} khoản chưa được ghi sổ trên máy chủ. Chúng vẫn được giữ trên điện thoại " +
      "này và sẽ được gửi khi bạn đăng nhập lại. Vẫn đăng xuất?",
    cash_book_kept: "Sổ quỹ còn {n} khoản chưa được ghi sổ trên máy chủ, vẫn được giữ trên điện thoại này.",
    confirm_enrol_switch_cash_book:
      "Mã QR này đăng nhập điện thoại bằng tài khoản của mã, thay cho {name}. Sổ quỹ của {name} " +
      "còn {n} khoản chưa được ghi sổ trên máy chủ: chúng vẫn được giữ trên điện thoại này, chờ " +
      "{name} đăng nhập lại. Vẫn đăng nhập bằng mã QR?",
    cash_book_kept_of:
      "Sổ quỹ của {name} còn {n} khoản chưa được ghi sổ trên máy chủ, vẫn được giữ trên điện thoại này.",
    kept_cash_book:
      "{n} khoản của sổ quỹ chưa được ghi sổ vẫn được giữ trên điện thoại; chúng sẽ được gửi sau " +
      "khi thủ quỹ của chúng đăng nhập.",
    kept_waiting: "{n} khảo sát chờ gửi vẫn được giữ trên điện thoại; chúng sẽ được gửi sau khi đăng nhập.",
    kept_to_fix: "{n} khảo sát gửi lỗi hoặc đang sửa được giữ trên điện thoại; sau khi đăng nhập, hãy sửa rồi gửi lại.",
    session_expired:
      "Phiên đăng nhập đã hết hạn. Hãy đăng nhập lại (bằng mã QR mới hoặc mật khẩu); {n} khảo " +
      "sát chờ gửi vẫn được giữ trên điện thoại.",
    sign_in_again: "Đăng nhập lại",
    sync_signin: "Chưa gửi được: cần đăng nhập lại. Các khảo sát chờ gửi vẫn được giữ.",
    sync_forbidden:
      "Tài khoản này không được gửi khảo sát ({detail}). Hãy đăng nhập bằng tài khoản tình nguyện viên.",
    others_waiting: "Khảo sát của {name} được giữ trên điện thoại này, chờ người đó đăng nhập để gửi: {n}.",
    review_received: "Chờ duyệt",
    review_approved: "Đã duyệt",
    review_needs_correction: "Cần sửa",
    review_rejected: "Bị từ chối",
    review_comment: "Người kiểm duyệt: {comment}",
    review_reason: "Lý do từ chối: {comment}",
    correct: "Sửa theo góp ý",
    correction_not_loaded: "Không tải được khảo sát này từ máy chủ. Hãy thử lại khi có mạng.",
    readonly_needs_correction:
      "Người kiểm duyệt yêu cầu sửa khảo sát này. Bấm “Sửa theo góp ý”, sửa rồi hoàn thành để gửi lại.",
    readonly_approved: "Đã được duyệt: khảo sát này không cần sửa nữa.",
    readonly_rejected: "Bị từ chối: xem lý do của người kiểm duyệt.",
    readonly_not_correctable:
      "Người kiểm duyệt đã quyết định về khảo sát này (đã duyệt hoặc từ chối) nên bản sửa không " +
      "được nhận. Máy chủ giữ bản trước đó.",
    readonly_not_collector:
      "Khảo sát này do người khác thu thập nên chỉ người đó gửi được bản sửa. Máy chủ không nhận " +
      "bản sửa này và giữ bản trước đó; các khảo sát khác vẫn được gửi. Hãy báo người kiểm duyệt.",
    readonly_correction_not_found:
      "Tài khoản đang đăng nhập không có khảo sát này trên máy chủ (do người khác thu thập, hoặc đã " +
      "bị xoá) nên bản sửa không được nhận; các khảo sát khác vẫn được gửi. Hãy báo người kiểm duyệt.",
    settled_leaves:
      "Máy chủ giữ bản của nó nên bản trên điện thoại này không gửi được nữa. Câu trả lời của nó sẽ được xóa " +
      "khỏi điện thoại sau {days} ngày, hoặc ngay bằng nút “Xóa khảo sát đã gửi khỏi điện thoại” trong Hộp thư đi.",
    settled_draft:
      "Người kiểm duyệt đã quyết định về khảo sát này (đã duyệt hoặc từ chối) nên bản sửa này không " +
      "gửi được nữa. Máy chủ giữ bản của nó; bản sửa sẽ được xóa khỏi điện thoại sau {days} ngày, " +
      "hoặc ngay bằng nút “Xóa bản nháp”.",
    readonly_correction_outdated:
      "Khảo sát này đã thay đổi trên máy chủ kể từ lần đồng bộ mà bản sửa này dựa vào (có thể đã được " +
      "sửa từ máy khác) nên bản sửa không được nhận. Máy chủ giữ bản hiện tại. Hãy báo người kiểm duyệt.",
  },
  en: {
    app_title: "Household survey",
    language_button: "Tiếng Việt",
    home: "Home",
    new_survey: "Start a new survey",
    my_surveys: "My surveys",
    no_surveys: "You have no surveys on this phone yet.",
    outbox: "Outbox",
    settings: "Settings",
    sync_now: "Send now",
    syncing: "Sending…",
    syncing_slow: "Slow or lost connection: still waiting to send. The surveys stay safe on this phone.",
    status_draft: "Draft",
    status_pending: "Waiting to send",
    status_sent: "Sent",
    status_failed: "Failed",
    count_pending: "{n} waiting",
    count_sent: "{n} sent",
    count_failed: "{n} failed",
    count_draft: "{n} drafts",
    edit: "Edit",
    delete_draft: "Delete draft",
    confirm_delete: "Delete this draft? It cannot be recovered.",
    started: "Started {time}",
    finished: "Finished {time}",
    draft_again: "Changed after it was finished: finish it again to send it.",
    left_draft_again: "The survey was changed, so it is a draft again: open it and tap Finish to send it.",
    still_waiting: "Nothing changed: the survey still waits to be sent.",
    untitled: "No name yet",
    collector_label: "Volunteer name or code",
    collector_hint: "Sent with every survey, for example tnv-07.",
    collector_required: "Please enter your name or code.",
    save: "Save",
    back: "Back",
    next: "Next",
    finish: "Finish",
    exit_survey: "Exit (keep draft)",
    step: "Part {n}/{total}",
    required: "This question is required.",
    constraint: "This answer is not allowed.",
    not_integer: "Must be a whole number, for example 4.",
    not_number: "Must be a number, for example 2.5.",
    text_too_long: "Too long (at most {max} characters).",
    invalid_date: "Not a valid date.",
    expression_error: "The form has an expression the app cannot use: {detail}",
    invalid_time: "Not a valid time.",
    invalid_location: "Not a valid location.",
    geoshape_too_few: "A boundary needs at least 3 different points.",
    geoshape_no_area: "The points lie on one line and enclose no area. Walk around the place.",
    geo_too_many_points: "Too many points: at most 20,000 for a boundary or a line walked. Clear some and walk it again.",
    not_a_choice: "Choose one of the choices shown.",
    out_of_range: "Outside the allowed range.",
    rank_repeated: "Rank each choice only once.",
    rank_incomplete: "Rank every one of the choices.",
    number_too_large: "The number is too large.",
    invalid_file_name: "Not a valid file name.",
    not_text: "Must be text.",
    repeat_count: "({n})",
    repeat_item: "{label} {n}",
    repeat_add: "+ Add {label}",
    repeat_remove: "Remove",
    repeat_confirm_remove: "Remove {label} {n} and all its answers?",
    fix_errors: "Some answers need fixing; see the messages in red.",
    gps_title: "GPS location",
    gps_searching: "Looking for a GPS position…",
    gps_accuracy: "Accuracy: ±{m} m",
    gps_recorded: "Position recorded: {lat}, {lon}",
    gps_poor: "Poor accuracy (over {limit} m). Move to an open place and wait for a better fix.",
    gps_wait_better: "Wait for a better fix",
    // Widgets (widgets.js, map.js)
    map_label: "Map (no background, works offline)",
    map_unavailable: "The map could not be opened.",
    zoom_in: "Zoom in",
    zoom_out: "Zoom out",
    field_id: "Survey id",
    field_form_id: "Form",
    field_form_version: "Form version",
    field_collected_at: "Time finished",
    field_finished_at: "Time last finished",
    field_sent_at: "The phone's clock when sending",
    field_collector: "Volunteer's name",
    field_city: "City",
    field_location: "GPS location",
    field_lat: "Latitude",
    field_lon: "Longitude",
    field_accuracy: "GPS accuracy",
    field_altitude: "Altitude",
    field_answers: "The answers",
    field_unknown_answer: "Question “{name}”",
    gps_place_by_hand: "Place the point by hand on the map",
    gps_use_gps: "Use the GPS position again",
    gps_recorded_manual: "Point placed by hand: {lat}, {lon}",
    gps_manual: "Placed by hand",
    gps_tap_map: "Tap the map where the household is.",
    gps_drag_point: "Drag the point to adjust it. It is recorded as placed by hand.",
    geo_walk_start: "Start walking and recording",
    geo_walk_pause: "Pause",
    geo_walk_resume: "Resume walking and recording",
    geo_undo: "Remove last point",
    geo_clear: "Clear all points",
    geo_clear_confirm: "Clear every recorded point?",
    geo_shape_points: "Shape of {n} points (closes on the first point).",
    geo_trace_points: "Line of {n} points.",
    geo_need_points: "{n} points so far; at least {min} different points are needed.",
    geo_shape_hint: "Walk around the boundary: each good GPS fix (under 20 m) adds a point. Or tap the map to add points.",
    geo_trace_hint: "Walk along the line: each good GPS fix (under 20 m) adds a point. Or tap the map to add points.",
    audio_record: "Record with another app / choose a file",
    audio_replace: "Choose another recording",
    audio_record_now: "Record now",
    audio_stop: "Stop recording",
    audio_recording: "Recording… {time}",
    audio_no_microphone: "The microphone cannot be used: allow the app to use it, or choose a recording file.",
    audio_wrong_type: "This file is not an accepted recording (WebM, Ogg, M4A, MP3, AAC, AMR, WAV).",
    file_choose: "Choose a file",
    file_replace: "Choose another file",
    file_remove: "Remove the file",
    file_kept: "Kept on the phone: {name} ({size}), sent with the survey.",
    file_wrong_type: "This kind of file is not accepted (PDF, TXT, CSV, ZIP, DOCX, XLSX, ODT, JPG, PNG).",
    file_too_large: "The file is too large (at most {max}).",
    file_empty: "The file is empty.",
    file_failed: "The file could not be kept.",
    rank_hint: "Use ▲ ▼ to order them: the most important at the top.",
    rank_keep: "Keep this order",
    rank_up: "Move “{label}” up",
    rank_down: "Move “{label}” down",
    range_unset: "Not chosen",
    range_clear: "Clear",
    time_now: "Now",
    barcode_type_it: "Type the code in the box above (this phone cannot scan codes).",
    barcode_scan: "Scan with the camera",
    barcode_stop: "Stop scanning",
    barcode_point: "Point the camera at the code…",
    barcode_read: "Code read.",
    barcode_no_camera: "The camera could not be opened; type the code.",
    dropdown_choose: "— Choose —",
    acknowledge_ok: "I agree (OK)",
    gps_waiting: "Waiting for a new position…",
    gps_denied:
      "The app is not allowed to use your location. Allow Location for this site in the " +
      "browser settings, then reload the page.",
    gps_unavailable: "Could not get a GPS position. Turn GPS on and move to an open place.",
    gps_timeout: "No GPS fix yet, still looking…",
    gps_unsupported: "This phone does not support location.",
    gps_missing: "No GPS position yet. Wait for the phone to get a fix.",
    photo_take: "Take a photo",
    photo_replace: "Retake",
    photo_remove: "Remove photo",
    photo_processing: "Processing the photo…",
    photo_failed: "Could not read this photo.",
    photo_waiting: "Photo waiting to upload",
    photo_refused: "The server did not accept this file (it is kept on the phone):",
    photo_missing: "the file is no longer on the phone",
    file_retry: "Send again",
    file_remove: "Remove this file",
    confirm_file_remove: "Remove the file {name} from this phone? The server does not have it: it will be lost.",
    user_unknown: "The account signed in is not known yet (the server has not answered). Go online and try again in a few minutes; surveys stay on the phone.",
    select_hint: "Choose one or more",
    offline: "Offline: surveys are kept on the phone and sent when there is a connection.",
    online: "Online",
    offline_ready: "Works offline",
    forms_unavailable: "The forms are not loaded yet. Open the app once online to get them.",
    saved_pending: "Saved. The survey will be sent when there is a connection.",
    saved_sending: "Saved. Sending the survey…",
    saved_sent: "Saved and sent.",
    saved_failed: "Saved, but the server did not take the survey: see why in the outbox.",
    sync_done: "{n} surveys sent.",
    sync_network_error: "Could not send (no connection). Will retry in {s} seconds.",
    sync_server_error: "The server has a problem ({status}). Will retry in {s} seconds.",
    sync_server_busy: "The server is busy ({status}); surveys are still waiting. Will retry in {s} seconds.",
    sync_not_server: "The network answered instead of the server ({status}; a Wi-Fi login?); surveys are still waiting. Will retry in {s} seconds.",
    sync_whoami: "Not sent: the server has not yet said which account is signed in. Will retry in {s} seconds.",
    sync_nothing: "No surveys waiting to be sent.",
    sync_waiting: "Surveys waiting to be sent: {n}.",
    sync_waiting_offline: "Surveys waiting to be sent: {n}. No connection now: they will be sent when the phone is online.",
    sync_offline: "No connection: nothing was sent. Surveys will be sent when the phone is online.",
    last_error: "Last attempt: {detail}",
    server_errors: "The server refused:",
    not_supported_question: "Question type '{type}' is not supported by the app yet.",
    yes: "Yes",
    no: "No",
    view: "View",
    storage_full:
      "The phone's storage is full: new changes cannot be saved. The answers saved before are " +
      "kept. Send the surveys that are waiting, then delete photos or apps you do not need.",
    storage_failed: "Could not save on the phone ({detail}). The answers saved before are kept.",
    changed_elsewhere: "This survey was just changed in another tab; showing the latest copy.",
    deleted_elsewhere: "This survey was deleted in another tab, so it can no longer be saved.",
    readonly_sent:
      "Sent: this survey can no longer be changed on the phone. If the reviewer asks for a " +
      "correction, it opens again here.",
    readonly_unconfirmed:
      "This survey was sent but the server has not confirmed it yet, so it can no longer be " +
      "changed (the server must not get two different versions). When online, the app sends " +
      "this same version again.",
    readonly_conflict:
      "The server already has another version of this survey, so it refused this one. Do not " +
      "survey this household again; tell your reviewer.",
    answers_removed: "The answers were removed from the phone (the server keeps them).",
    photo_attached: "Photo taken",
    no_answer: "—",
    location_label: "Location",
    clear_sent: "Remove sent surveys from this phone",
    confirm_clear_sent: "Remove {n} sent surveys from this phone? The server keeps them.",
    cleared_sent: "{n} sent surveys removed from this phone.",
    sent_kept:
      "Sent surveys stay on the phone for {days} days, then their answers are removed. " +
      "Surveys not sent yet are never removed.",
    sync_phone_error: "Error on the phone ({detail}). Will retry in {s} seconds.",
    sign_in_title: "Sign in",
    signin_qr_title: "Scan the QR code",
    signin_qr_text:
      "Open your phone's Camera app and scan the QR code your admin gives you. The phone opens " +
      "this app and signs you in, no password needed. Each code works once.",
    signin_password_title: "Or sign in with a password",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    signing_in: "Signing in…",
    signin_missing: "Enter your username and password.",
    signin_network: "Cannot reach the server. Check the connection and try again.",
    signin_failed: "Could not sign in. Try again.",
    enrol_refused:
      "This QR code can no longer be used (already used, or expired). Each code works once: " +
      "ask your admin for a new one.",
    bad_credentials: "Wrong username or password.",
    try_again: "Try again",
    signed_in_as: "Signed in: {name}",
    account: "Account",
    sign_out: "Sign out",
    cancel: "Cancel",
    confirm_sign_out:
      "{n} surveys are not sent yet. They stay on this phone and are sent when you sign in " +
      "again. Sign out anyway?",
    confirm_sign_out_unsent:
      "{n} surveys are not sent yet, {m} of them refused by the server or being corrected. " +
      "They stay on this phone: when you sign in again, the waiting ones are sent, and the " +
      "others need you to correct and send them. Sign out anyway?",
    confirm_enrol_switch:
      "This QR code signs the phone in with the account it was made for, in place of {name}. " +
      "{name} has {n} surveys not sent yet: they stay on this phone until {name} signs in " +
      "again. Sign in with the QR code?",
    confirm_sign_out_cash_book:
      "The cash book has {n} records the server has not posted yet. They stay on this phone " +
      "and are sent when you sign in again. Sign out anyway?",
    cash_book_kept: "The cash book has {n} records the server has not posted yet, kept on this phone.",
    confirm_enrol_switch_cash_book:
      "This QR code signs the phone in with the account it was made for, in place of {name}. " +
      "The cash book of {name} has {n} records the server has not posted yet: they stay on " +
      "this phone until {name} signs in again. Sign in with the QR code?",
    cash_book_kept_of:
      "The cash book of {name} has {n} records the server has not posted yet, kept on this phone.",
    kept_cash_book:
      "{n} cash book records not posted yet are kept on this phone; they are sent after their " +
      "treasurer signs in.",
    kept_waiting: "{n} surveys waiting are kept on this phone; they are sent after you sign in.",
    kept_to_fix:
      "{n} surveys refused by the server or being corrected are kept on this phone; after you " +
      "sign in, correct them and send them again.",
    session_expired:
      "Your sign-in has expired. Sign in again (with a new QR code or your password); your {n} " +
      "surveys waiting are kept on the phone.",
    sign_in_again: "Sign in again",
    sync_signin: "Not sent: you need to sign in again. The surveys waiting are kept.",
    sync_forbidden: "This account may not send surveys ({detail}). Sign in with a volunteer account.",
    others_waiting: "Surveys by {name} kept on this phone until they sign in to send them: {n}.",
    review_received: "Awaiting review",
    review_approved: "Approved",
    review_needs_correction: "Needs correction",
    review_rejected: "Rejected",
    review_comment: "Reviewer: {comment}",
    review_reason: "Reason for rejection: {comment}",
    correct: "Make the correction",
    correction_not_loaded: "Could not load this survey from the server. Try again when online.",
    readonly_needs_correction:
      "The reviewer asks for a correction. Tap “Make the correction”, correct it and finish to send it again.",
    readonly_approved: "Approved: this survey needs no more changes.",
    readonly_rejected: "Rejected: see the reviewer's reason.",
    readonly_not_correctable:
      "The reviewer has already decided on this survey (approved or rejected), so the correction " +
      "was not taken. The server keeps the earlier version.",
    readonly_not_collector:
      "Someone else collected this survey, so only they can send its correction. The server did " +
      "not take this one and keeps the earlier version; other surveys are still sent. Tell your reviewer.",
    readonly_correction_not_found:
      "The server has no such survey for the account signed in (someone else collected it, or it " +
      "was removed), so the correction was not taken; other surveys are still sent. Tell your reviewer.",
    settled_leaves:
      "The server keeps its copy, so the copy on this phone can no longer be sent. Its answers leave this " +
      "phone after {days} days, or at once with “Remove sent surveys from this phone” in the Outbox.",
    settled_draft:
      "The reviewer decided on this survey (approved or rejected), so this correction can no longer " +
      "be sent. The server keeps its copy; the correction leaves this phone after {days} days, or " +
      "at once with “Delete draft”.",
    readonly_correction_outdated:
      "This survey changed on the server since the sync this correction was made on (it may have " +
      "been corrected on another phone), so the correction was not taken. The server keeps the " +
      "version it has. Tell your reviewer.",
  },
};

export const LANGUAGES = ["vi", "en"];
const STORAGE_KEY = "cdfmap.collect.lang";

let current = (() => {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return LANGUAGES.includes(stored) ? stored : "vi";
  } catch {
    return "vi";
  }
})();

/** The current UI language (vi or en). */
export function language() {
  return current;
}

/** Switch and remember the UI language. */
export function setLanguage(code) {
  current = LANGUAGES.includes(code) ? code : "vi";
  try {
    localStorage.setItem(STORAGE_KEY, current);
  } catch {
    // private mode: the choice lasts for this page only
  }
  document.documentElement.lang = current;
}

/** A UI string in the current language, with {name} placeholders filled. */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.vi[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** Pick the current language from a {vi, en, default} label of the form. */
export function pick(labels) {
  if (!labels) return "";
  if (typeof labels === "string") return labels;
  return labels[current] ?? labels.default ?? labels.vi ?? Object.values(labels)[0] ?? "";
}
